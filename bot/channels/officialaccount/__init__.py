"""The WeChat Official Account (公众号) channel: signed, AES-encrypted XML callbacks (WECOM.md §4)."""
