"""Special token ids and surfaces shared by every tokenizer, model and search: the bottom floor.

====  =========  ===========================================================
id    token      meaning
====  =========  ===========================================================
0     [PAD]      padding; never produced by tokenization
1     [UNK]      unknown text (a character, or for WordPiece a whole word)
2     [START]    start of sequence: the decoder's first input
3     [END]      end of sequence: appended to every source, predicted last
4...  vocabulary
====  =========  ===========================================================

This module imports nothing, so every layer of ``nmt`` may import it.
"""

PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[START]", "[END]")
#: What detokenization writes for an unknown token (U+2047, as SentencePiece does).
UNK_SURFACE = "\u2047"
