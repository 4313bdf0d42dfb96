from rfarm.cli.app import main

main()
