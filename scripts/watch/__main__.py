from scripts.watch.cli import main

raise SystemExit(main())
