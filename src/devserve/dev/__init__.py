"""Development features: live reload, the host check, the access log, the reloader,
ad hoc TLS and the debugger."""
