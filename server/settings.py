"""Settings, built (never imported) from arguments and ``RFQSIM_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_PANEL = ("dealer-a", "dealer-b", "dealer-c", "dealer-d", "dealer-e")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RFQSIM_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/rfqsim.db"
    participants: Path | None = Field(None, description="TOML file of participants and their API keys")
    seed: int = 7
    universe_size: int = Field(2000, ge=10, le=50_000)
    # in-process bots, unless the participants file names them (then they are remote dealers)
    dealer_panel: Annotated[tuple[str, ...], NoDecode] = DEFAULT_PANEL
    # strategy per in-process dealer, by position (entry-point name or module:Class); empty: the reference
    # net-risk panel (ETF-hedging, flow, axe, cautious, risk), cycling if there are more dealers than names
    dealer_strategies: Annotated[tuple[str, ...], NoDecode] = ()
    bot_latency_ms: float = Field(0.0, ge=0)  # every in-process bot's answer delay
    bot_deadline_ms: float = Field(2000.0, gt=0)
    rfq_time_limit_s: float = Field(30.0, gt=0)
    pt_time_limit_s: float = Field(300.0, gt=0)
    disclose_cover: bool = True
    market_evolution: bool = True  # the market moves on the wall clock (factor model, seeded)
    market_step_s: float = Field(60.0, gt=0)
    market_impact: bool = True  # inquiries and awards move mids (information leakage)
    market_impact_refresh_s: float = Field(1.0, ge=0)  # fold impact into what bots see at most this often
    stream_queue_size: int = Field(10_000, ge=10)
    log_level: str = "info"

    @field_validator("dealer_panel", "dealer_strategies", mode="before")
    @classmethod
    def _split_panel(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @property
    def dev_participants_file(self) -> Path:
        """Where a first start writes generated development participants (next to a SQLite file)."""
        url = self.database_url
        if url.startswith("sqlite") and ":///" in url and ":memory:" not in url:
            return Path(url.split(":///", 1)[1]).parent / "participants.toml"
        return Path("var/participants.toml")
