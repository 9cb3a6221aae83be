"""HTML views: agent workspace (agent.py), customer portal (customer.py),
attachment downloads (files.py). Views parse input, call one selector or
service, and render; access control lives in tickets.selectors."""
