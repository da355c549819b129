// @ts-check
// A minimal ONNX model writer (protobuf wire format, only the fields a one-graph model needs), so
// the peers benchmark can build MatMulNBits and MatMul models in code. Field numbers from onnx.proto.
'use strict';

/** @param {number} v a non-negative integer below 2^53 */
function varint(v) {
  const out = [];
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/** @param {number} field @param {number} v */
const intField = (field, v) => Buffer.concat([varint(field * 8), varint(v)]);
/** @param {number} field @param {Buffer | Uint8Array | string} v */
function bytesField(field, v) {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.concat([varint(field * 8 + 2), varint(b.length), b]);
}
/** @param {number} field @param {Buffer[]} parts */
const message = (field, parts) => bytesField(field, Buffer.concat(parts));

const FLOAT = 1, UINT8 = 2;

/**
 * @param {string} name
 * @param {number} type 1 float, 2 uint8
 * @param {number[]} dims
 * @param {Uint8Array | Float32Array} data
 */
function tensor(name, type, dims, data) {
  return [...dims.map((d) => intField(1, d)), intField(2, type), bytesField(8, name), bytesField(9, /** @type {Uint8Array} */ (new Uint8Array(data.buffer, data.byteOffset, data.byteLength)))];
}

/** @param {string} name @param {(number | string)[]} dims float tensor */
function valueInfo(name, dims) {
  const shape = dims.map((d) => message(1, [typeof d === 'number' ? intField(1, d) : bytesField(2, d)]));
  return [bytesField(1, name), message(2, [message(1, [intField(1, FLOAT), message(2, shape)])])];
}

/**
 * @param {{ op: string, domain?: string, inputs: string[], outputs: string[], attrs?: Record<string, number> }} n
 */
function node(n) {
  const attrs = Object.entries(n.attrs ?? {}).map(([k, v]) => message(5, [bytesField(1, k), intField(3, v), intField(20, 2)]));
  return [
    ...n.inputs.map((i) => bytesField(1, i)),
    ...n.outputs.map((o) => bytesField(2, o)),
    bytesField(3, n.outputs[0]),
    bytesField(4, n.op),
    ...attrs,
    ...(n.domain ? [bytesField(7, n.domain)] : []),
  ];
}

/**
 * A model of nodes over initializers, one float input and one float output.
 * @param {{ nodes: Parameters<typeof node>[0][], initializers: Parameters<typeof tensor>[], input: [string, (number | string)[]], output: [string, (number | string)[]] }} g
 */
function model(g) {
  const graph = [
    ...g.nodes.map((n) => message(1, node(n))),
    bytesField(2, 'lowbit-peers'),
    ...g.initializers.map((t) => message(5, tensor(...t))),
    message(11, valueInfo(...g.input)),
    message(12, valueInfo(...g.output)),
  ];
  return Buffer.concat([
    intField(1, 8), // ir_version
    message(8, [bytesField(1, ''), intField(2, 17)]),
    message(8, [bytesField(1, 'com.microsoft'), intField(2, 1)]),
    message(7, graph),
  ]);
}

module.exports = { model, FLOAT, UINT8 };
