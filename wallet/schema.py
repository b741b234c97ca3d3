"""OpenAPI (drf-spectacular) description of the wallet-signature scheme."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class WalletSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "wallet.authentication.WalletSignatureAuthentication"
    name = ["walletAddress", "walletTimestamp", "walletSignature"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Wallet-Address",
                "description": "The signing wallet (0x…, checksummed or lowercase).",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Timestamp",
                "description": "Unix time in milliseconds, within 5 minutes of server time.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Wallet-Signature",
                "description": "EIP-191 personal signature of `<WALLET_AUTH_MESSAGE_PREFIX>\\n"
                "Timestamp: <X-Timestamp>\\nMethod: <METHOD>\\nPath: <path>`; each "
                "signature is accepted once.",
            },
        ]

    def get_security_requirement(self, auto_schema):
        # All three together.
        return {"walletAddress": [], "walletTimestamp": [], "walletSignature": []}
