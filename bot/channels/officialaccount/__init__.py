"""The WeChat Official Account (公众号) channel."""
