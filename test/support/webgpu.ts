import { BackendUnavailableError, loadTf, type TfRuntime } from '../../plugins/trainers/tfjs/tf-runtime.ts';

/**
 * The WebGPU runtime for tests, or why there is none. A machine without a Vulkan driver that
 * Dawn accepts skips the WebGPU tests, saying why; CI sets NASNET_REQUIRE_WEBGPU=1 (it installs
 * Mesa 25's lavapipe), so there a missing adapter fails instead of skipping quietly.
 */
export async function webgpuForTests(): Promise<{ runtime: TfRuntime | null; skip: string | false }> {
  try {
    return { runtime: await loadTf('webgpu'), skip: false };
  } catch (error) {
    if (!(error instanceof BackendUnavailableError)) throw error;
    if (process.env.NASNET_REQUIRE_WEBGPU === '1') throw new Error(`NASNET_REQUIRE_WEBGPU=1 but ${error.message}`);
    return { runtime: null, skip: `${error.message} (see README, "GPU training")` };
  }
}
