"""Wording the statements of the companion paper's claims share."""

#: the data the findings are decided on: the iCub recordings (not shipped; lipbound.claims.mvae.ICUB)
ICUB_DATA = ("icub",)
#: the note of every open finding
OPEN = "open (the paper reports it; the committed study decides)"
