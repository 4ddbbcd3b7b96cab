"""A faithful, deterministic IPS SOAP service: a simulated world of companies and jobs, served over HTTP.

`server.create_app(world)` for tests, `server.run_simulator(...)` for the `simulate` command,
`server.serve_simulator(...)` for the demo. See `scenarios` for what each named scenario contains.
"""
