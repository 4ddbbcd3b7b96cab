"""The IPS (Image Production System) SOAP API: envelopes, the HTTP client and a faithful simulator."""
