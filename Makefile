# The two commands of the README.
#   make run   - set up and run the app on SQLite with demo data (embedded default)
#   make test  - install what the tests need and run them on PostgreSQL + Redis
.PHONY: run test lint bench loadtest

run:
	./scripts/run.sh

test:
	./scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

loadtest:
	./scripts/loadtest.sh
