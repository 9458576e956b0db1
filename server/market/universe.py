"""The synthetic reference universe: issuers, corporate bonds, on-the-run Treasuries, credit ETFs.

``build_universe(config)`` makes the same universe from the same config, every time. Randomness
comes from ``numpy.random.default_rng(config.seed)`` split into one independent child stream per
component (issuers, allocation of bonds to issuers, terms, ratings, amounts, spreads, coupons,
liquidity), so a component's draws do not move when another component's sizes change; the
Treasuries carry no noise at all and depend on the curve and ``as_of`` only.

Spreads are centred on the ICE BofA option-adjusted spreads by rating (CALIBRATION section 4):
AAA 30, AA 47, A 68, BBB 101, BB 181, B 309, CCC 839 bp, with a mild term tilt for investment
grade, a sector effect, an issuer effect and a bond effect. The evaluated mid yield is the
interpolated Treasury yield plus the spread; the evaluated mid clean price follows from it by
``server.domain.bondmath`` at settle = ``as_of``.

Index convention: corporates are instruments ``0 .. len(bonds) - 1`` and the Treasuries follow,
``len(bonds) + k``. A :class:`MarketSnapshot` is aligned with that full range.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from server.domain import bondmath
from server.domain.bonds import ETF, HY_RATINGS, IG_RATINGS, RATINGS, Bond, DayCount, InstrumentKind
from server.domain.errors import InvalidInput, NotFound
from server.domain.identifiers import cusip_to_isin, make_cusip, parse_identifier
from server.market.curve import TreasuryCurve, default_curve
from server.market.liquidity import liquidity_score

__all__ = [
    "ETF_HALF_SPREAD_BP",
    "ETF_INITIAL_NAV",
    "GOVERNMENT_SECTOR",
    "GRADES",
    "RATINGS",
    "RATING_SPREAD_BP",
    "SECTORS",
    "TREASURY_CUSIP_PREFIX",
    "TREASURY_TENORS",
    "Issuer",
    "MarketSnapshot",
    "Universe",
    "UniverseConfig",
    "build_universe",
]

SECTORS: Final = (
    "Financials",
    "Technology",
    "Communications",
    "Energy",
    "Utilities",
    "Healthcare",
    "Consumer Staples",
    "Consumer Discretionary",
    "Industrials",
    "Materials",
    "Real Estate",
    "Transportation",
)
GOVERNMENT_SECTOR: Final = "Government"
GRADES: Final = ("IG", "HY")

RATING_SPREAD_BP: Final[dict[str, float]] = {
    "AAA": 30.0, "AA": 47.0, "A": 68.0, "BBB": 101.0, "BB": 181.0, "B": 309.0, "CCC": 839.0,
}
"""ICE BofA option-adjusted spreads by rating, August 2025 (CALIBRATION section 4)."""

TREASURY_TENORS: Final = (2, 5, 10, 30)
TREASURY_CUSIP_PREFIX: Final = "91282C"
TREASURY_ISSUER: Final = "US Treasury"
TREASURY_TICKER: Final = "T"
_TREASURY_SIZE: Final = {2: 69_000_000_000, 5: 70_000_000_000, 10: 42_000_000_000, 30: 25_000_000_000}

ETF_HALF_SPREAD_BP: Final[dict[str, float]] = {"LQD": 0.5, "HYG": 0.75}
ETF_INITIAL_NAV: Final[dict[str, float]] = {"LQD": 110.0, "HYG": 80.0}
_ETF_NAMES: Final = {
    "LQD": "Investment grade corporate bond ETF",
    "HYG": "High yield corporate bond ETF",
}
LQD_MIN_AMOUNT: Final = 750_000_000
LQD_MIN_TTM: Final = 3.0
HYG_MIN_AMOUNT: Final = 400_000_000
HYG_MIN_TTM: Final = 1.0

_N_IG = len(IG_RATINGS)
_RATING_SPREAD = np.array([RATING_SPREAD_BP[r] for r in RATINGS])

# Issuer mix by sector, for IG and HY issuers (each sums to 1).
_SECTOR_WEIGHTS_IG = np.array([0.24, 0.09, 0.08, 0.07, 0.10, 0.09, 0.07, 0.06, 0.09, 0.05, 0.04, 0.02])
_SECTOR_WEIGHTS_HY = np.array([0.08, 0.09, 0.12, 0.12, 0.04, 0.10, 0.05, 0.15, 0.10, 0.07, 0.05, 0.03])
# Sector spread multipliers (before a small random sector shock).
_SECTOR_TILT = np.array([1.00, 0.95, 1.08, 1.10, 0.95, 0.97, 0.92, 1.05, 0.97, 1.04, 1.08, 1.02])
# Issuer base-rating mix within each grade.
_IG_RATING_WEIGHTS = np.array([0.02, 0.08, 0.38, 0.52])
_HY_RATING_WEIGHTS = np.array([0.48, 0.38, 0.14])
# Original tenors (years) and their issuance shares.
_IG_TENORS = np.array([2, 3, 5, 7, 10, 20, 30])
_IG_TENOR_P = np.array([0.03, 0.07, 0.17, 0.14, 0.27, 0.07, 0.25])
_HY_TENORS = np.array([3, 5, 6, 7, 8, 10])
_HY_TENOR_P = np.array([0.05, 0.25, 0.10, 0.25, 0.25, 0.10])
# Age since issue is drawn as max_age * u ** power: skewed to recent issues (issuance has grown, and
# older bonds get called, tendered or bought back). Gives an IG index duration near 7.
_IG_AGE_POWER = 2.0
_HY_AGE_POWER = 1.5

# Noise levels (log-normal sigmas).
_SECTOR_SIGMA = 0.05
_ISSUER_SIGMA = 0.15
_BOND_SIGMA = 0.17
_IG_TERM_TILT = 0.22  # IG spread ~ (ttm / 7y) ** tilt
_MIN_SPREAD_BP = 5.0

# Approximate annual average 10-year Treasury yield (percent), used to set coupons near the yield
# at which each bond was issued. Only the change since issue matters.
_HIST_10Y_YEARS = np.arange(2010, 2027, dtype=np.float64) + 0.5
_HIST_10Y = np.array([
    3.21, 2.79, 1.80, 2.35, 2.54, 2.14, 1.84, 2.33, 2.91, 2.14, 0.89, 1.45, 2.95, 3.96, 4.21, 4.30, 4.10,
])

# Synthetic issuer names.
_STEMS_A: Final = (
    "Al", "Ar", "Bel", "Bra", "Cal", "Cor", "Dal", "Del", "Ev", "Fal", "Gal", "Har", "Ist", "Jun",
    "Kel", "Lam", "Lux", "Mar", "Mer", "Nor", "Nov", "Oak", "Or", "Pal", "Pen", "Quan", "Ral",
    "Sol", "Ster", "Tal", "Tor", "Ul", "Val", "Ver", "Wes", "Xan", "Yor", "Zen",
)
_STEMS_B: Final = ("", "a", "e", "i", "o", "ar", "en", "in", "or", "on", "is", "el")
_STEMS_C: Final = (
    "ta", "ex", "on", "ia", "is", "ar", "ent", "ix", "um", "ra", "co", "va", "tek", "ton", "ley",
    "wood", "field", "gate", "mont", "dyne", "vis", "gen",
)
_SECTOR_NOUNS: Final = (
    ("Bancorp", "Financial", "Capital", "Bank", "Insurance Group"),
    ("Systems", "Software", "Technologies", "Semiconductor", "Networks"),
    ("Communications", "Media", "Telecom", "Broadcasting", "Wireless"),
    ("Energy", "Petroleum", "Resources", "Midstream Partners", "Oil & Gas"),
    ("Power", "Electric", "Utilities", "Gas & Electric", "Water"),
    ("Health", "Pharmaceuticals", "Medical", "Biosciences", "Healthcare"),
    ("Foods", "Brands", "Beverage", "Household Products", "Consumer Products"),
    ("Retail", "Motors", "Leisure", "Apparel", "Restaurants"),
    ("Industries", "Aerospace", "Machinery", "Manufacturing", "Engineering"),
    ("Chemicals", "Materials", "Metals", "Mining", "Packaging"),
    ("Realty", "Properties", "REIT", "Land", "Estates"),
    ("Airlines", "Logistics", "Rail", "Freight", "Shipping"),
)
_LEGAL: Final = ("Inc", "Corp", "Holdings", "Group", "Co", "LLC")
_CONSONANTS = frozenset("BCDFGHJKLMNPQRSTVWXZ")
_RESERVED_TICKERS = frozenset({"LQD", "HYG", "T", "UST", "TSY"})
# Issuer prefixes never to generate: Treasuries and the real issuers of the worked example.
_RESERVED_PREFIXES = frozenset({TREASURY_CUSIP_PREFIX, "912828", "912810", "254687", "023135", "88579Y"})
_CUSIP_ALPHABET = string.digits + "".join(c for c in string.ascii_uppercase if c not in "IO")
_ISSUE_CODES: Final = tuple(a + b for a in _CUSIP_ALPHABET[10:] for b in _CUSIP_ALPHABET)

_STREAMS: Final = ("issuers", "allocation", "terms", "ratings", "amounts", "spreads", "coupons", "liquidity")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
DateArray = NDArray[np.datetime64]


@dataclass(frozen=True)
class UniverseConfig:
    seed: int = 7
    n_bonds: int = 2000
    n_issuers: int = 320
    hy_fraction: float = 0.28
    as_of: date = date(2026, 11, 20)
    curve: TreasuryCurve | None = None

    def __post_init__(self) -> None:
        if self.n_bonds < 1:
            raise ValueError("n_bonds must be at least 1")
        if self.n_issuers < 1:
            raise ValueError("n_issuers must be at least 1")
        if not 0.0 <= self.hy_fraction <= 1.0:
            raise ValueError("hy_fraction must be between 0 and 1")


@dataclass(frozen=True, slots=True)
class Issuer:
    name: str
    ticker: str
    sector: str
    rating: str  # base rating; its bonds sit at or a notch from it, within the grade
    cusip6: str

    @property
    def grade(self) -> str:
        return "HY" if self.rating in HY_RATINGS else "IG"


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class MarketSnapshot:
    """Evaluated mids of every instrument, aligned with the universe's indices.

    Arrays have length ``len(universe.bonds) + len(universe.treasuries)`` and are read-only:
    corporates first, then Treasuries. Prices are clean per 100, yields decimals, spreads bp
    over the interpolated Treasury curve (0 for Treasuries).

    ``basis`` names the snapshot this one was derived from by moving mids only (:meth:`with_mids`:
    market impact folded into a market step's snapshot), None for a snapshot in its own right. It
    lets a consumer with per-snapshot tables (a net-risk dealer's factor exposures and hedges) keep
    the basis's tables and take only the mids from this one. It is bookkeeping, not market data:
    not an ``__init__`` argument, so ``dataclasses.replace`` (which may change anything, an ETF
    price, the liquidity) gives a snapshot without one, and left out of ``repr`` and of pickles and
    copies (a copy stands alone: the worst a consumer does with it is build its tables afresh).
    """

    as_of: date
    curve: TreasuryCurve
    mid_price: FloatArray
    mid_yield: FloatArray
    spread_bp: FloatArray
    liquidity_score: FloatArray
    etf_nav: dict[str, float] = dc_field(default_factory=dict)
    etf_price: dict[str, float] = dc_field(default_factory=dict)
    basis: MarketSnapshot | None = dc_field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.mid_price.shape[0])

    def __getstate__(self) -> dict[str, Any]:
        # Pickles (parallel sweeps, copies) carry the market data, not the snapshot it was moved from.
        state = dict(self.__dict__)
        state["basis"] = None
        return state

    def with_mids(self, mid_price: ArrayLike, mid_yield: ArrayLike, spread_bp: ArrayLike) -> MarketSnapshot:
        """This snapshot with other mids (clean price, yield, spread) and everything else the same objects.

        The result's ``basis`` is this snapshot, or this snapshot's own ``basis`` if it has one: always
        the snapshot in its own right that the mids were moved from, however many moves ago, so a
        consumer looks one level up only. The arrays are taken as given when they are read-only
        float64, else copied, and are read-only in the result.
        """
        n = len(self)
        arrays = []
        for name, value in (("mid_price", mid_price), ("mid_yield", mid_yield), ("spread_bp", spread_bp)):
            a = np.asarray(value, dtype=np.float64)
            if a.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},)")
            arrays.append(_readonly(a.copy()) if a.flags.writeable else a)
        moved = replace(self, mid_price=arrays[0], mid_yield=arrays[1], spread_bp=arrays[2])
        object.__setattr__(moved, "basis", self if self.basis is None else self.basis)  # frozen: as __init__ does
        return moved

    def quote_for(self, i: int) -> dict[str, float]:
        """Mid clean price, yield (percent), spread (bp) and liquidity score of instrument ``i``."""
        if not 0 <= i < len(self):
            raise IndexError(f"instrument index {i} out of range 0..{len(self) - 1}")
        return {
            "mid_price": float(self.mid_price[i]),
            "mid_yield": float(self.mid_yield[i] * 100.0),
            "spread_bp": float(self.spread_bp[i]),
            "liquidity_score": float(self.liquidity_score[i]),
        }

    @classmethod
    def from_spreads(
        cls,
        universe: Universe,
        spread_bp: ArrayLike,
        liquidity: ArrayLike,
        *,
        curve: TreasuryCurve | None = None,
        as_of: date | None = None,
        etf_nav: Mapping[str, float] | None = None,
        etf_price: Mapping[str, float] | None = None,
    ) -> MarketSnapshot:
        """Price every instrument at ``curve(ttm) + spread`` (settle = ``as_of``).

        ``spread_bp`` and ``liquidity`` cover all instruments (corporates then Treasuries).
        ``etf_price`` defaults to ``etf_nav``, which defaults to the initial NAVs.
        """
        curve = universe.curve if curve is None else curve
        as_of = universe.as_of if as_of is None else as_of
        n = universe.n_instruments
        spread = np.array(spread_bp, dtype=np.float64)
        liq = np.array(liquidity, dtype=np.float64)
        if spread.shape != (n,) or liq.shape != (n,):
            raise ValueError(f"spread_bp and liquidity must have shape ({n},)")
        settle = np.datetime64(as_of, "D")
        ttm = bondmath.time_to_maturity(universe.all_maturity, settle)
        ytm = curve.yield_at(ttm) + spread * 1e-4
        price = bondmath.clean_price(
            universe.all_coupon, universe.all_maturity, settle, ytm,
            universe.all_day_count, universe.all_frequency,
        )
        nav = dict(ETF_INITIAL_NAV if etf_nav is None else etf_nav)
        px = dict(nav if etf_price is None else etf_price)
        return cls(
            as_of=as_of,
            curve=curve,
            mid_price=_readonly(np.asarray(price, dtype=np.float64)),
            mid_yield=_readonly(np.asarray(ytm, dtype=np.float64)),
            spread_bp=_readonly(spread),
            liquidity_score=_readonly(liq),
            etf_nav=nav,
            etf_price=px,
        )


class Universe:
    """Reference data of the venue: corporates, Treasuries and ETFs, with aligned numpy arrays.

    Arrays named without prefix are aligned with ``bonds`` (corporates only); ``all_*`` arrays
    cover every instrument (corporates then Treasuries). All arrays are read-only.
    """

    def __init__(
        self,
        *,
        config: UniverseConfig,
        curve: TreasuryCurve,
        issuers: tuple[Issuer, ...],
        bonds: tuple[Bond, ...],
        treasuries: tuple[Bond, ...],
        etfs: dict[str, ETF],
        arrays: dict[str, NDArray[Any]],
        etf_holdings_idx: dict[str, IntArray],
        etf_weights: dict[str, FloatArray],
        base_spread_bp: FloatArray,
        base_liquidity: FloatArray,
    ) -> None:
        self.config = config
        self.as_of: date = config.as_of
        self.curve = curve
        self.issuers = issuers
        self.bonds = bonds
        self.treasuries = treasuries
        self.instruments: tuple[Bond, ...] = bonds + treasuries
        self.etfs = etfs
        self.n_bonds = len(bonds)
        self.n_instruments = len(self.instruments)

        a = {k: _readonly(v) for k, v in arrays.items()}
        self.coupon: FloatArray = a["coupon"]
        self.maturity: DateArray = a["maturity"]
        self.issue_date: DateArray = a["issue_date"]
        self.day_count: NDArray[np.int8] = a["day_count"]
        self.frequency: IntArray = a["frequency"]
        self.amount_outstanding: IntArray = a["amount_outstanding"]
        self.min_piece: IntArray = a["min_piece"]
        self.increment: IntArray = a["increment"]
        self.rating_idx: NDArray[np.int8] = a["rating_idx"]
        self.sector_idx: NDArray[np.int8] = a["sector_idx"]
        self.issuer_idx: NDArray[np.int32] = a["issuer_idx"]
        self.is_hy: NDArray[np.bool_] = a["is_hy"]
        self.ttm: FloatArray = a["ttm"]
        self.age: FloatArray = a["age"]
        self.all_coupon: FloatArray = a["all_coupon"]
        self.all_maturity: DateArray = a["all_maturity"]
        self.all_issue_date: DateArray = a["all_issue_date"]
        self.all_day_count: NDArray[np.int8] = a["all_day_count"]
        self.all_frequency: IntArray = a["all_frequency"]
        self.all_amount_outstanding: IntArray = a["all_amount_outstanding"]
        self.etf_holdings_idx = {k: _readonly(v) for k, v in etf_holdings_idx.items()}
        self.etf_weights = {k: _readonly(v) for k, v in etf_weights.items()}
        self.base_spread_bp = _readonly(base_spread_bp)
        self.base_liquidity = _readonly(base_liquidity)

        self._by_cusip = {b.cusip: i for i, b in enumerate(self.instruments)}
        self._by_isin = {b.isin: i for i, b in enumerate(self.instruments)}
        inst = self.instruments
        self._s_ticker = np.array([b.ticker.upper() for b in inst])
        self._s_issuer = np.array([b.issuer.upper() for b in inst])
        self._s_cusip = np.array([b.cusip for b in inst])
        self._s_isin = np.array([b.isin for b in inst])
        self._s_rating = np.array([b.rating for b in inst])
        self._s_sector = np.array([b.sector.upper() for b in inst])
        self._s_hy = np.array([b.rating in HY_RATINGS for b in inst], dtype=bool)
        self._initial: MarketSnapshot | None = None

    def __repr__(self) -> str:
        return (
            f"Universe(seed={self.config.seed}, bonds={self.n_bonds}, treasuries={len(self.treasuries)}, "
            f"issuers={len(self.issuers)}, as_of={self.as_of.isoformat()})"
        )

    def instrument(self, i: int) -> Bond:
        """Instrument ``i``: a corporate for ``i < len(bonds)``, else Treasury ``i - len(bonds)``."""
        if not 0 <= i < self.n_instruments:
            raise IndexError(f"instrument index {i} out of range 0..{self.n_instruments - 1}")
        return self.instruments[i]

    def index_of(self, identifier: str, field: str = "identifier") -> int:
        """Index of the instrument with this CUSIP or ISIN.

        A malformed identifier or a wrong check digit raises :class:`InvalidInput` (naming the
        expected digit); a valid identifier of no instrument here raises :class:`NotFound`.
        """
        # Fast path: an exact, known identifier is valid by construction (the venue's own events
        # and most requests carry normalised CUSIPs); only the rest need parsing and checking.
        found = self._by_cusip.get(identifier)
        if found is None:
            found = self._by_isin.get(identifier)
        if found is not None:
            return found
        kind, value = parse_identifier(identifier, field)
        table = self._by_cusip if kind == "cusip" else self._by_isin
        try:
            return table[value]
        except KeyError:
            raise NotFound(f"no instrument with {kind.upper()} {value}", field=field) from None

    def bond(self, identifier: str, field: str = "identifier") -> Bond:
        """The instrument (corporate or Treasury) with this CUSIP or ISIN."""
        return self.instruments[self.index_of(identifier, field)]

    def search(
        self,
        query: str = "",
        *,
        rating: str | None = None,
        sector: str | None = None,
        grade: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Bond]:
        """Instruments matching ``query`` and the filters, in index order, paginated
        (``search_page`` also gives the number of matches).

        ``query`` matches case-insensitively a ticker prefix, a substring of the issuer name, or a
        CUSIP or ISIN prefix; empty matches everything. Treasuries are included (sector
        "Government", rating AAA, grade IG).
        """
        if limit < 0:
            raise InvalidInput("limit must be non-negative", field="limit")
        if offset < 0:
            raise InvalidInput("offset must be non-negative", field="offset")
        mask = self._search_mask(query, rating, sector, grade)
        return self._page(mask, limit, offset)[0]

    def _search_mask(self, query: str, rating: str | None, sector: str | None, grade: str | None
                     ) -> NDArray[np.bool_]:
        mask = np.ones(self.n_instruments, dtype=bool)
        q = query.strip().upper()
        if q:
            mask = (
                np.char.startswith(self._s_ticker, q)
                | (np.char.find(self._s_issuer, q) >= 0)
                | np.char.startswith(self._s_cusip, q)
                | np.char.startswith(self._s_isin, q)
            )
        if rating is not None:
            r = rating.strip().upper()
            if r not in RATINGS:
                raise InvalidInput(f"unknown rating {rating!r}; one of {', '.join(RATINGS)}", field="rating")
            mask &= self._s_rating == r
        if sector is not None:
            s = sector.strip().upper()
            known = {x.upper() for x in (*SECTORS, GOVERNMENT_SECTOR)}
            if s not in known:
                raise InvalidInput(
                    f"unknown sector {sector!r}; one of {', '.join((*SECTORS, GOVERNMENT_SECTOR))}",
                    field="sector",
                )
            mask &= self._s_sector == s
        if grade is not None:
            g = grade.strip().upper()
            if g not in GRADES:
                raise InvalidInput(f"unknown grade {grade!r}; one of IG, HY", field="grade")
            mask &= self._s_hy if g == "HY" else ~self._s_hy
        return mask

    def search_page(self, query: str = "", *, rating: str | None = None, sector: str | None = None,
                    grade: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Bond], int]:
        """``search`` and the total number of matches."""
        mask = self._search_mask(query, rating, sector, grade)
        return self._page(mask, limit, offset)

    def _page(self, mask: NDArray[np.bool_], limit: int, offset: int) -> tuple[list[Bond], int]:
        if limit < 0:
            raise InvalidInput("limit must be non-negative", field="limit")
        if offset < 0:
            raise InvalidInput("offset must be non-negative", field="offset")
        idx = np.flatnonzero(mask)
        return [self.instruments[int(i)] for i in idx[offset : offset + limit]], int(idx.size)

    def initial_market(self) -> MarketSnapshot:
        """The evaluated market at ``as_of``: base spreads, base liquidity, initial ETF NAVs."""
        if self._initial is None:
            self._initial = MarketSnapshot.from_spreads(self, self.base_spread_bp, self.base_liquidity)
        return self._initial


# --------------------------------------------------------------------------------------------
# construction


def _issuer_names(rng: np.random.Generator, sector_idx: NDArray[np.intp]) -> tuple[list[str], list[str]]:
    """Unique synthetic issuer names and unique 3-4 letter tickers."""
    n = len(sector_idx)
    stems: list[str] = []
    seen: set[str] = set()
    while len(stems) < n:
        k = n - len(stems)
        a = rng.integers(0, len(_STEMS_A), size=k)
        b = rng.integers(0, len(_STEMS_B), size=k)
        c = rng.integers(0, len(_STEMS_C), size=k)
        for ia, ib, ic in zip(a, b, c, strict=True):
            stem = (_STEMS_A[ia] + _STEMS_B[ib] + _STEMS_C[ic]).capitalize()
            if stem not in seen:
                seen.add(stem)
                stems.append(stem)
    nouns = rng.integers(0, 5, size=n)
    legal = rng.integers(0, len(_LEGAL), size=n)
    spare = rng.integers(0, 26, size=(n, 8))  # spare letters for tickers
    names: list[str] = []
    tickers: list[str] = []
    taken: set[str] = set(_RESERVED_TICKERS)
    for i in range(n):
        stem = stems[i]
        names.append(f"{stem} {_SECTOR_NOUNS[int(sector_idx[i])][int(nouns[i])]} {_LEGAL[int(legal[i])]}")
        up = stem.upper()
        cons = "".join(ch for ch in up[1:] if ch in _CONSONANTS)
        candidates = [up[:3], up[0] + cons[:2], up[:4], up[0] + cons[:3], up[:2] + cons[-1:]]
        # Then the stem's first letter with deterministic spare letters, then a counter.
        candidates += [up[0] + "".join(string.ascii_uppercase[int(x)] for x in spare[i, j : j + 3])
                       for j in range(6)]
        ticker = next((t for t in candidates if len(t) >= 3 and t not in taken), None)
        j = 0
        while ticker is None:
            cand = f"{up[0]}{string.ascii_uppercase[j // 26 % 26]}{string.ascii_uppercase[j % 26]}"
            ticker = None if cand in taken else cand
            j += 1
        taken.add(ticker)
        tickers.append(ticker)
    return names, tickers


def _issuer_prefixes(rng: np.random.Generator, n: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set(_RESERVED_PREFIXES)
    alphabet = _CUSIP_ALPHABET
    while len(out) < n:
        k = n - len(out)
        digits = rng.integers(0, 10, size=(k, 5))
        last = rng.integers(0, len(alphabet), size=k)
        for row, ch in zip(digits, last, strict=True):
            p = "".join(str(int(d)) for d in row) + alphabet[int(ch)]
            if p.startswith("912") or p in seen:
                continue
            seen.add(p)
            out.append(p)
    return out


def _pick(u: FloatArray, p: FloatArray) -> NDArray[np.intp]:
    """Index drawn with probabilities ``p`` (normalized) for each uniform ``u``."""
    cdf = np.cumsum(p) / np.sum(p)
    return np.searchsorted(cdf, u, side="right").clip(0, len(p) - 1)


def _allocate(rng: np.random.Generator, m: int, weights: FloatArray) -> IntArray:
    """Split ``m`` bonds among issuers: one each first (when possible), the rest by weight."""
    k = len(weights)
    counts = np.zeros(k, dtype=np.int64)
    if k == 0 or m == 0:
        return counts
    if m < k:
        pick = rng.choice(k, size=m, replace=False, p=weights / weights.sum())
        counts[pick] = 1
        return counts
    counts += 1
    counts += rng.multinomial(m - k, weights / weights.sum())
    return counts


def _add_months(d: DateArray, months: IntArray, day: IntArray) -> DateArray:
    """Dates ``months`` after the month of ``d``, on day ``day`` (1-28)."""
    m = d.astype("datetime64[M]") + months.astype("timedelta64[M]")
    return m.astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")


def _hist_shift(issue_years: FloatArray, as_of_year: float) -> FloatArray:
    """Change (decimal) in the 10y Treasury yield level between issue and ``as_of``."""
    then = np.interp(issue_years, _HIST_10Y_YEARS, _HIST_10Y)
    now = float(np.interp(as_of_year, _HIST_10Y_YEARS, _HIST_10Y))
    return np.asarray((then - now) / 100.0, dtype=np.float64)


def _month_end(year: int, month: int) -> date:
    first_next = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return first_next - timedelta(days=1)


def _treasuries(as_of: date, curve: TreasuryCurve) -> tuple[list[Bond], FloatArray]:
    """On-the-run 2y, 5y, 10y and 30y, coupons from the curve, and their coupons as decimals.

    The 10y and 30y are issued on the latest quarterly refunding date (the 15th of Feb, May, Aug,
    Nov) before ``as_of``; the 2y and 5y on the latest month end before ``as_of``.
    Coupons follow the auction convention: the yield at issue rounded down to 1/8.
    """
    ylds = curve.yield_at(np.asarray(TREASURY_TENORS, dtype=np.float64))
    coupons_pct = np.maximum(np.floor(ylds * 100.0 * 8.0 + 1e-9) / 8.0, 0.125)
    bonds: list[Bond] = []
    for k, tenor in enumerate(TREASURY_TENORS):
        if tenor >= 10:
            y, m = as_of.year, as_of.month
            while not (m in (2, 5, 8, 11) and date(y, m, 15) < as_of):
                y, m = (y - 1, 12) if m == 1 else (y, m - 1)
            issue, maturity = date(y, m, 15), date(y + tenor, m, 15)
        else:
            issue = _month_end(as_of.year, as_of.month)
            if issue >= as_of:
                issue = date(as_of.year, as_of.month, 1) - timedelta(days=1)
            maturity = _month_end(issue.year + tenor, issue.month)
        cusip = make_cusip(f"{TREASURY_CUSIP_PREFIX}M{_CUSIP_ALPHABET[10 + k]}")
        bonds.append(Bond(
            cusip=cusip,
            isin=cusip_to_isin(cusip),
            issuer=TREASURY_ISSUER,
            ticker=TREASURY_TICKER,
            sector=GOVERNMENT_SECTOR,
            rating="AAA",
            coupon=float(coupons_pct[k]),
            maturity=maturity,
            issue_date=issue,
            amount_outstanding=_TREASURY_SIZE[tenor],
            min_piece=100,
            increment=100,
            day_count=DayCount.ACT_ACT,
            frequency=2,
            kind=InstrumentKind.TREASURY,
        ))
    return bonds, np.asarray(coupons_pct / 100.0, dtype=np.float64)


def build_universe(config: UniverseConfig = UniverseConfig()) -> Universe:
    """Build the universe for ``config``, deterministically: same config, same universe."""
    cfg = config
    curve = cfg.curve if cfg.curve is not None else default_curve()
    streams = dict(zip(_STREAMS, np.random.default_rng(cfg.seed).spawn(len(_STREAMS)), strict=True))
    as_of_d = np.datetime64(cfg.as_of, "D")
    as_of_year = cfg.as_of.year + (cfg.as_of.timetuple().tm_yday - 0.5) / 365.25

    # ---- issuers (depend on n_issuers and hy_fraction only) ------------------------------
    rng = streams["issuers"]
    n_iss = cfg.n_issuers
    if cfg.hy_fraction <= 0.0:
        n_hy_iss = 0
    elif cfg.hy_fraction >= 1.0:
        n_hy_iss = n_iss
    elif n_iss == 1:
        n_hy_iss = int(cfg.hy_fraction > 0.5)
    else:
        # HY issuers have fewer bonds each than IG issuers (HYG ~2.3 bonds/issuer, LQD ~5).
        n_hy_iss = int(np.clip(round(n_iss * min(0.9, cfg.hy_fraction * 1.5)), 1, n_iss - 1))
    iss_hy = np.zeros(n_iss, dtype=bool)
    iss_hy[rng.permutation(n_iss)[:n_hy_iss]] = True
    u_sector = rng.random(n_iss)
    iss_sector = np.where(iss_hy, _pick(u_sector, _SECTOR_WEIGHTS_HY), _pick(u_sector, _SECTOR_WEIGHTS_IG))
    u_rating = rng.random(n_iss)
    iss_rating = np.where(
        iss_hy, _N_IG + _pick(u_rating, _HY_RATING_WEIGHTS), _pick(u_rating, _IG_RATING_WEIGHTS)
    )
    iss_size_z = rng.standard_normal(n_iss)  # issuer size: more and larger bonds
    iss_spread_z = rng.standard_normal(n_iss)  # issuer credit effect
    sector_spread_z = rng.standard_normal(len(SECTORS))
    code_start = rng.integers(0, len(_ISSUE_CODES), size=n_iss)
    names, tickers = _issuer_names(rng, iss_sector)
    prefixes = _issuer_prefixes(rng, n_iss)
    issuers = tuple(
        Issuer(names[i], tickers[i], SECTORS[int(iss_sector[i])], RATINGS[int(iss_rating[i])], prefixes[i])
        for i in range(n_iss)
    )

    # ---- allocation of bonds to issuers ---------------------------------------------------
    rng = streams["allocation"]
    n = cfg.n_bonds
    hy_ids = np.flatnonzero(iss_hy)
    ig_ids = np.flatnonzero(~iss_hy)
    if len(hy_ids) == 0:
        n_hy = 0
    elif len(ig_ids) == 0:
        n_hy = n
    else:
        n_hy = int(np.clip(round(cfg.hy_fraction * n), 0, n))
    weights = np.exp(0.9 * iss_size_z)
    counts = np.zeros(n_iss, dtype=np.int64)
    counts[ig_ids] = _allocate(rng, n - n_hy, weights[ig_ids])
    counts[hy_ids] = _allocate(rng, n_hy, weights[hy_ids])
    if counts.max() > len(_ISSUE_CODES):
        raise ValueError("too many bonds per issuer for the 2-character issue numbers")
    issuer_idx = np.repeat(np.arange(n_iss), counts).astype(np.int32)
    is_hy = iss_hy[issuer_idx]
    sector_idx = iss_sector[issuer_idx].astype(np.int8)

    # ---- terms: tenor, age, dates ---------------------------------------------------------
    rng = streams["terms"]
    u_tenor = rng.random(n)
    tenor = np.where(is_hy, _HY_TENORS[_pick(u_tenor, _HY_TENOR_P)], _IG_TENORS[_pick(u_tenor, _IG_TENOR_P)])
    max_age = np.minimum(10.0, tenor - 1.15)
    age_draw = 0.01 + rng.random(n) ** np.where(is_hy, _HY_AGE_POWER, _IG_AGE_POWER) * (max_age - 0.01)
    day = rng.integers(1, 29, size=n)
    issue_guess = as_of_d - np.round(age_draw * 365.25).astype("timedelta64[D]")
    # Snap to the bond's day of month, keeping the issue strictly before as_of.
    issue_date = _add_months(issue_guess, np.zeros(n, dtype=np.int64), day)
    issue_date = np.where(
        issue_date >= as_of_d, _add_months(issue_guess, np.full(n, -1, dtype=np.int64), day), issue_date
    )
    maturity = _add_months(issue_date, 12 * tenor, day)
    ttm = np.asarray(bondmath.time_to_maturity(maturity, as_of_d), dtype=np.float64)
    age = (as_of_d - issue_date).astype(np.float64) / 365.25

    # ---- ratings --------------------------------------------------------------------------
    rng = streams["ratings"]
    u = rng.random(n)
    notch = np.where(u < 0.08, -1, np.where(u > 0.85, 1, 0))
    base_r = iss_rating[issuer_idx]
    lo = np.where(is_hy, _N_IG, 0)
    hi = np.where(is_hy, len(RATINGS) - 1, _N_IG - 1)
    rating_idx = np.clip(base_r + notch, lo, hi).astype(np.int8)

    # ---- amounts and denominations --------------------------------------------------------
    rng = streams["amounts"]
    z_amt = rng.standard_normal(n)
    ig_amt = np.exp(np.log(900e6) + 0.55 * z_amt + 0.25 * iss_size_z[issuer_idx])
    hy_amt = np.exp(np.log(600e6) + 0.40 * z_amt + 0.15 * iss_size_z[issuer_idx])
    ig_amt = np.clip(np.round(ig_amt / 50e6) * 50e6, 250e6, 4e9)
    hy_amt = np.clip(np.round(hy_amt / 25e6) * 25e6, 300e6, 1.5e9)
    amount = np.where(is_hy, hy_amt, ig_amt).astype(np.int64)
    two_k = rng.random(n) < 0.85
    min_piece = np.where(is_hy & two_k, 2_000, 1_000).astype(np.int64)
    increment = np.full(n, 1_000, dtype=np.int64)

    # ---- spreads ----------------------------------------------------------------------------
    rng = streams["spreads"]
    z_bond = rng.standard_normal(n)
    tilt = np.where(is_hy, 1.0, (np.clip(ttm, 1.0, 30.0) / 7.0) ** _IG_TERM_TILT)
    sector_factor = _SECTOR_TILT * np.exp(_SECTOR_SIGMA * sector_spread_z)
    spread = (
        _RATING_SPREAD[rating_idx]
        * tilt
        * sector_factor[sector_idx]
        * np.exp(_ISSUER_SIGMA * iss_spread_z[issuer_idx])
        * np.exp(_BOND_SIGMA * z_bond)
    )
    spread = np.maximum(spread, _MIN_SPREAD_BP)

    # ---- coupons: near the yield at issue, rounded to 1/8 ----------------------------------
    rng = streams["coupons"]
    issue_year = as_of_year - age
    spread_at_issue = spread * np.exp(0.20 * rng.standard_normal(n))
    y_issue = (
        curve.yield_at(tenor.astype(np.float64))
        + _hist_shift(issue_year, as_of_year)
        + spread_at_issue * 1e-4
        + 0.0015 * rng.standard_normal(n)
    )
    coupon_pct = np.clip(np.round(y_issue * 100.0 * 8.0) / 8.0, 0.5, 14.0)
    coupon = coupon_pct / 100.0

    # ---- liquidity ----------------------------------------------------------------------------
    rng = streams["liquidity"]
    liq = liquidity_score(amount, age, ttm, is_hy, rng.standard_normal(n))

    # ---- reference data objects -------------------------------------------------------------
    # Order bonds by issuer, then maturity.
    order = np.lexsort((maturity, issuer_idx))
    issuer_idx = issuer_idx[order]
    is_hy, sector_idx, rating_idx = is_hy[order], sector_idx[order], rating_idx[order]
    maturity, issue_date, ttm, age = maturity[order], issue_date[order], ttm[order], age[order]
    amount, min_piece, increment = amount[order], min_piece[order], increment[order]
    coupon, coupon_pct, spread, liq = coupon[order], coupon_pct[order], spread[order], liq[order]
    # Issue numbers follow maturity order within the issuer.
    k_sorted = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    codes = (code_start[issuer_idx] + k_sorted) % len(_ISSUE_CODES)

    mat_dates = maturity.astype(object)
    iss_dates = issue_date.astype(object)
    bonds: list[Bond] = []
    for i in range(n):
        iss = issuers[int(issuer_idx[i])]
        cusip = make_cusip(iss.cusip6 + _ISSUE_CODES[int(codes[i])])
        bonds.append(Bond(
            cusip=cusip,
            isin=cusip_to_isin(cusip),
            issuer=iss.name,
            ticker=iss.ticker,
            sector=iss.sector,
            rating=RATINGS[int(rating_idx[i])],
            coupon=float(coupon_pct[i]),
            maturity=mat_dates[i],
            issue_date=iss_dates[i],
            amount_outstanding=int(amount[i]),
            min_piece=int(min_piece[i]),
            increment=int(increment[i]),
            day_count=DayCount.THIRTY_360,
            frequency=2,
            kind=InstrumentKind.CORPORATE,
        ))

    treasuries, tsy_coupon = _treasuries(cfg.as_of, curve)
    nt = len(treasuries)
    tsy_mat = np.array([b.maturity for b in treasuries], dtype="datetime64[D]")
    tsy_issue = np.array([b.issue_date for b in treasuries], dtype="datetime64[D]")
    dc_corp = bondmath.day_count_code(DayCount.THIRTY_360)
    dc_tsy = bondmath.day_count_code(DayCount.ACT_ACT)
    day_count = np.full(n, dc_corp, dtype=np.int8)
    frequency = np.full(n, 2, dtype=np.int64)
    tsy_amount = np.array([b.amount_outstanding for b in treasuries], dtype=np.int64)
    arrays: dict[str, NDArray[Any]] = {
        "coupon": coupon,
        "maturity": maturity,
        "issue_date": issue_date,
        "day_count": day_count,
        "frequency": frequency,
        "amount_outstanding": amount,
        "min_piece": min_piece,
        "increment": increment,
        "rating_idx": rating_idx,
        "sector_idx": sector_idx,
        "issuer_idx": issuer_idx,
        "is_hy": is_hy,
        "ttm": ttm,
        "age": age,
        "all_coupon": np.concatenate([coupon, tsy_coupon]),
        "all_maturity": np.concatenate([maturity, tsy_mat]),
        "all_issue_date": np.concatenate([issue_date, tsy_issue]),
        "all_day_count": np.concatenate([day_count, np.full(nt, dc_tsy, dtype=np.int8)]),
        "all_frequency": np.concatenate([frequency, np.full(nt, 2, dtype=np.int64)]),
        "all_amount_outstanding": np.concatenate([amount, tsy_amount]),
    }
    base_spread = np.concatenate([spread, np.zeros(nt)])
    base_liq = np.concatenate([liq, np.full(nt, 99.5)])
    # The 2y is the most liquid security there is.
    base_liq[n] = 100.0

    # ---- ETFs: market-value weights at the evaluated mids -----------------------------------
    settle = as_of_d
    y_mid = curve.yield_at(ttm) + spread * 1e-4
    dirty = bondmath.clean_price(coupon, maturity, settle, y_mid, day_count, frequency) + (
        bondmath.accrued_interest(coupon, maturity, settle, day_count, frequency)
    )
    mv = amount * np.asarray(dirty, dtype=np.float64) / 100.0
    rules = {
        "LQD": (~is_hy) & (amount >= LQD_MIN_AMOUNT) & (ttm >= LQD_MIN_TTM),
        "HYG": is_hy & (amount >= HYG_MIN_AMOUNT) & (ttm >= HYG_MIN_TTM),
    }
    etfs: dict[str, ETF] = {}
    holdings_idx: dict[str, IntArray] = {}
    etf_w: dict[str, FloatArray] = {}
    for ticker, eligible in rules.items():
        idx = np.flatnonzero(eligible).astype(np.int64)
        w = mv[idx] / mv[idx].sum() if len(idx) else np.zeros(0)
        holdings_idx[ticker] = idx
        etf_w[ticker] = np.asarray(w, dtype=np.float64)
        etfs[ticker] = ETF(
            ticker=ticker,
            name=_ETF_NAMES[ticker],
            holdings=tuple(bonds[int(i)].cusip for i in idx),
            weights=tuple(float(x) for x in w),
            half_spread_bp=ETF_HALF_SPREAD_BP[ticker],
        )

    return Universe(
        config=cfg,
        curve=curve,
        issuers=issuers,
        bonds=tuple(bonds),
        treasuries=tuple(treasuries),
        etfs=etfs,
        arrays=arrays,
        etf_holdings_idx=holdings_idx,
        etf_weights=etf_w,
        base_spread_bp=base_spread,
        base_liquidity=base_liq,
    )
