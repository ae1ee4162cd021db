"""Simulator page assets, a package so that packaging ships them as package data."""
