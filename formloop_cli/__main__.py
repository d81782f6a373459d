"""`python -m formloop_cli ...`, the same as the `formloop` command."""
from formloop_cli.main import main

raise SystemExit(main())
