"""A dealer strategy to copy: ``cp -r dealer_bots/_template my_dealer`` and edit ``strategy.py``.

Check it with ``rfqsim check-bot my_dealer.strategy:TemplateDealer``.
"""

from .strategy import TemplateDealer, TemplateDealerConfig  # relative: the copy works under any name

__all__ = ["TemplateDealer", "TemplateDealerConfig"]
