from e3torch.cli.main import main

raise SystemExit(main())
