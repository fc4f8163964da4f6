from xlner.cli import main

main()
