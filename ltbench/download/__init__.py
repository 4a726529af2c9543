"""``ltbench download``: VOC, COCO, the VOC-LT / COCO-LT split files and the pretrained weights, for an online machine.

Never called implicitly: training and tests read only local files. ``fetch``
moves one checksummed file (resumable, atomic); ``catalog`` says what each
target holds, taken from torchvision's and open_clip's own tables where they
have one; ``commands`` is the command line, which ends with ``ltbench prepare``.
"""
