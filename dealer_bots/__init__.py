"""The dealer-strategy SDK: the bot protocol, re-exported, and reference strategies.

    from dealer_bots import DealerBot, InquiryView, MarketView, InventoryView, Quote, Pass
"""

from server.bots.protocol import (
    Action,
    DealerBot,
    DealerStrategy,
    Feedback,
    InquiryView,
    InventoryView,
    MarketView,
    Pass,
    Quote,
    Withdraw,
)

__all__ = [
    "Action",
    "DealerBot",
    "DealerStrategy",
    "Feedback",
    "InquiryView",
    "InventoryView",
    "MarketView",
    "Pass",
    "Quote",
    "Withdraw",
]
