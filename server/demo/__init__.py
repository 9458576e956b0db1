"""Scripted demonstrations of the venue: ``rfqsim demo ...`` (see :mod:`server.demo.switch_trade`)."""
