from jurist.cli.main import main

main()
