// The one place the trading core imports TensorFlow.js. Native backends (tfjs-node, tfjs-node-gpu)
// register themselves into this same engine when backend.ts loads them, so every module that
// imports `tf` from here runs on whatever backend was selected.
import * as tf from '@tensorflow/tfjs'

export { tf }
export type Tensor = tf.Tensor
export type LayersModel = tf.LayersModel
/** Optimizer state entries (tfjs-core exports the type only under io). */
export type NamedTensor = { name: string; tensor: tf.Tensor }
