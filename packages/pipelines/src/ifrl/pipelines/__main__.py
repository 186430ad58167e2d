"""``python -m ifrl.pipelines ...`` (and ``accelerate launch -m ifrl.pipelines ...``) = ``ifrl ...``."""

from ifrl.core.cli import main

if __name__ == "__main__":
    main()
