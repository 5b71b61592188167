"""Chinese scene-text line recognition: data, models, training, decoding and inference.

Importing the package changes nothing in the process: a stage script that needs Paddle or
paddleocr configured a particular way says so itself through ``linerec.runtime``.
"""
