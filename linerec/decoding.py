"""Greedy CTC decoding, through paddleocr's own CTCLabelDecode."""


def ctc_decoder(dict_path, use_space_char):
    """A callable: probabilities [N, T, C] → [(text, mean confidence)]."""
    from paddleocr.ppocr.postprocess.rec_postprocess import CTCLabelDecode

    return CTCLabelDecode(character_dict_path=str(dict_path), use_space_char=use_space_char)
