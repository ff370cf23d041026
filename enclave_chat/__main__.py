from enclave_chat.cli import main

raise SystemExit(main())
