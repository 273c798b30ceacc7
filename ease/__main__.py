"`python -m ease ...` (and `torchrun -m ease ...`): the `ease` command line."
from .cli import main

if __name__ == '__main__': raise SystemExit(main())
