from digest.cli.commands import main

main()
