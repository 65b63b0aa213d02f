from smartcam.cli import main

raise SystemExit(main())
