"""`python -m bench` (what `make bench` runs): every benchmark, figures to docs/benchmarks.{json,md}."""

from bench.run import main

raise SystemExit(main())
