"""The three keys of a deployment, each its own setting.

SECRET_KEY signs cookies and may be rotated; IIN_HMAC_KEY hashes IINs and RECEIPT_KEY signs
ballot receipts, and both must stay the same forever (changing them orphans every account or
receipt). Development falls back to SECRET_KEY; production refuses to start without all three
(config.ProductionConfig.check).
"""

from flask import current_app


def iin_key():
    config = current_app.config
    return config.get("IIN_HMAC_KEY") or config["SECRET_KEY"]


def receipt_key():
    config = current_app.config
    return config.get("RECEIPT_KEY") or config.get("BUDGET_RECEIPT_SECRET") or config["SECRET_KEY"]
