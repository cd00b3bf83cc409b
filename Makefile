# Quick start: `make run` runs the bot, `make test` runs the tests. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint check-config migrate clean

$(BIN)/hotfix-bot: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/hotfix-bot
	$(BIN)/hotfix-bot run

test: $(BIN)/hotfix-bot
	$(BIN)/pytest

lint: $(BIN)/hotfix-bot
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check-config: $(BIN)/hotfix-bot
	$(BIN)/hotfix-bot check-config

migrate: $(BIN)/hotfix-bot
	$(BIN)/hotfix-bot migrate

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
