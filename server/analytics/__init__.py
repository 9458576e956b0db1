"""Pre-trade analytics (liquidity, cost estimates, optimisation) and post-trade TCA.

* :mod:`server.analytics.pretrade`: per-line and basket cost, risk and problem lines, RFQ versus
  portfolio trade, with the dealers' own cost model (:mod:`dealer_bots.pricing`);
* :mod:`server.analytics.optimise`: replace illiquid lines by more liquid bonds of similar risk;
* :mod:`server.analytics.tca`: a trade's cost against the arrival mid, the previous close, the
  cover and the basket's NAV.

Pure functions of the universe, a market snapshot and the request: no I/O, no clock.
"""
