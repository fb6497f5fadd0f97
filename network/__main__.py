from network.cli import main

main()
