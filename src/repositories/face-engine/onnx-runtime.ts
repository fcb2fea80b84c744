interface OrtTensor {
  data: unknown;
  dims: readonly number[];
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, OrtTensor>>;
}
interface OrtModule {
  InferenceSession: { create(bytes: Uint8Array, options?: object): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

/** An onnxruntime session with one float32 input and one float32 output. */
export class OnnxSession {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
  ) {}

  /**
   * One thread per session: workers scale out as processes (one per core), and a second thread per process
   * would only contend with the other worker.
   */
  static async create(model: Uint8Array): Promise<OnnxSession> {
    // Imported on first use: the runtime is a large native module, loaded only by processes that run a model.
    const ort = (await import('onnxruntime-node')) as unknown as OrtModule;
    const session = await ort.InferenceSession.create(model, {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
    return new OnnxSession(ort, session);
  }

  async run(input: Float32Array, dims: readonly number[]): Promise<Float32Array> {
    const feeds = { [this.session.inputNames[0]!]: new this.ort.Tensor('float32', input, dims) };
    const output = (await this.session.run(feeds))[this.session.outputNames[0]!]!;
    return output.data as Float32Array;
  }
}
