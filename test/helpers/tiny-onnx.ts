/**
 * A tiny but real sentence-embedding model for tests of the ONNX path, with no download: an ONNX
 * graph (the protobuf encoded by hand here) that looks up each token's row of an embedding table,
 * `last_hidden_state[b, s, :] = table[input_ids[b, s], :]`, with the inputs a BERT export has
 * (input_ids, attention_mask, token_type_ids: int64 [batch, seq]), and a WordPiece tokenizer.json
 * for its vocabulary. Mean pooling over the mask then gives the average of the words' rows: texts
 * that share words are close, texts that do not are far (rows are seeded pseudo-random).
 *
 * ONNX protobuf fields used (onnx.proto3): ModelProto ir_version=1, opset_import=8, producer_name=2,
 * graph=7; GraphProto node=1, name=2, initializer=5, input=11, output=12; NodeProto input=1,
 * output=2, name=3, op_type=4, attribute=5; AttributeProto name=1, i=3, type=20 (INT=2);
 * TensorProto dims=1, data_type=2 (FLOAT=1), name=8, raw_data=9; ValueInfoProto name=1, type=2;
 * TypeProto tensor_type=1; TypeProto.Tensor elem_type=1 (INT64=7, FLOAT=1), shape=2;
 * TensorShapeProto dim=1; Dimension dim_value=1, dim_param=2; OperatorSetIdProto version=2.
 */
import { prng } from '../../scripts/lib/prng.js';

// ---- protobuf wire format -------------------------------------------------------------------

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

const key = (field: number, wire: number) => varint((field << 3) | wire);
const int = (field: number, n: number | bigint) => [...key(field, 0), ...varint(n)];
const bytes = (field: number, b: Uint8Array | number[]) => [...key(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string) => bytes(field, [...Buffer.from(s, 'utf8')]);
const msg = (field: number, parts: number[][]) => bytes(field, parts.flat());

const ELEM_FLOAT = 1;
const ELEM_INT64 = 7;

/** ValueInfoProto of a tensor: dims are numbers (fixed) or names (symbolic). */
function valueInfo(field: number, name: string, elem: number, dims: Array<number | string>): number[] {
  const shape = dims.map((d) => msg(1, [typeof d === 'number' ? int(1, d) : str(2, d)]));
  return msg(field, [str(1, name), msg(2, [msg(1, [int(1, elem), msg(2, shape)])])]);
}

export interface TinyModel {
  /** The .onnx file's bytes. */
  onnx: Buffer;
  /** tokenizer.json's text. */
  tokenizerJson: string;
  vocab: string[];
  dim: number;
}

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'] as const;

/**
 * The model for `words` (lower case; each gets a vocabulary entry after the special tokens) and
 * `dim`. `seed` fixes the table. The special tokens' rows are not zero, so a padding token that is
 * wrongly pooled changes the vector.
 */
export function tinyOnnxModel(words: readonly string[], dim = 8, seed = 7): TinyModel {
  const vocab = [...SPECIAL_TOKENS, ...words];
  const rand = prng(seed);
  const table = new Float32Array(vocab.length * dim).map(() => rand() * 2 - 1);
  const raw = new Uint8Array(table.buffer);
  const initializer = msg(5, [int(1, vocab.length), int(1, dim), int(2, ELEM_FLOAT), str(8, 'embeddings'), bytes(9, raw)]);
  const gather = msg(1, [str(1, 'embeddings'), str(1, 'input_ids'), str(2, 'last_hidden_state'), str(3, 'lookup'), str(4, 'Gather'), msg(5, [str(1, 'axis'), int(3, 0), int(20, 2)])]);
  const graph = msg(7, [
    gather,
    str(2, 'tiny-sentence-model'),
    initializer,
    valueInfo(11, 'input_ids', ELEM_INT64, ['batch', 'sequence']),
    valueInfo(11, 'attention_mask', ELEM_INT64, ['batch', 'sequence']),
    valueInfo(11, 'token_type_ids', ELEM_INT64, ['batch', 'sequence']),
    valueInfo(12, 'last_hidden_state', ELEM_FLOAT, ['batch', 'sequence', dim]),
  ]);
  const model = [...int(1, 8), ...str(2, 'fav-tests'), ...graph, ...msg(8, [int(2, 13)])];
  return { onnx: Buffer.from(model), tokenizerJson: JSON.stringify(wordPieceTokenizer(vocab)), vocab, dim };
}

/** A BERT-style WordPiece tokenizer.json: lower-casing, [CLS] text [SEP]. */
export function wordPieceTokenizer(vocab: readonly string[]): object {
  const ids = Object.fromEntries(vocab.map((t, i) => [t, i]));
  const special = (t: string) => ({ id: ids[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [ids['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [ids['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
}
