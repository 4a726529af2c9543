"""The run directory and what is read from it: files and formats, the saved model, test-selected and smoke verdicts.

``run_dir`` owns a run directory's files; ``model_file`` is ``model.safetensors``;
``test_selected`` the best-on-test epoch shown apart; ``random_weights`` tells
smoke runs from real ones; ``reload`` (above the experiment) rebuilds a run's model.
"""
