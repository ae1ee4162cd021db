"""The WeChat Official Account (公众号) channel: encrypted XML callbacks in, customer-service messages out."""
