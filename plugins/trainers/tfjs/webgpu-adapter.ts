/**
 * Finds a WebGPU adapter through Dawn's Node bindings (the npm package `webgpu`) and says
 * what it is. Dawn reaches the GPU through the vendor's Vulkan driver, so no CUDA toolkit or
 * libtensorflow is needed; on a machine without a GPU it may offer a software rasteriser
 * (Mesa's lavapipe, SwiftShader), which runs shaders on the CPU: correct, but slower than
 * WebAssembly, so it is used only when asked for.
 */

/** The limits that decide what fits: tensors are storage buffers, kernels are workgroups. */
export interface AdapterLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU rasteriser posing as a GPU (lavapipe/llvmpipe, SwiftShader, WARP). */
  software: boolean;
  limits: AdapterLimits;
}

export interface FoundAdapter {
  gpu: GPU;
  /** WebGPU's global classes and constants (GPUBufferUsage, ...), which a browser would define. */
  globals: object;
  adapter: GPUAdapter;
  description: AdapterDescription;
}

export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|softpipe|warp|software/i;

/** Dawn marks CPU adapters as fallback adapters; older drivers only say so in their names. */
export function isSoftwareAdapter(info: {
  isFallbackAdapter?: boolean;
  architecture: string;
  device: string;
  description: string;
  vendor: string;
}): boolean {
  if (info.isFallbackAdapter) return true;
  return [info.architecture, info.device, info.description, info.vendor].some((text) => SOFTWARE_NAMES.test(text));
}

function describe(adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const { limits } = adapter;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: isSoftwareAdapter(info),
    limits: {
      maxBufferSize: limits.maxBufferSize,
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    },
  };
}

/** `NVIDIA H200 (nvidia hopper, WebGPU)`, `llvmpipe (Mesa 25.0.7; software, runs on the CPU)`. */
export function deviceName(adapter: AdapterDescription): string {
  const name = adapter.description || adapter.device || adapter.vendor || 'unknown adapter';
  const detail = [adapter.vendor, adapter.architecture].filter(Boolean).join(' ');
  return adapter.software
    ? `${name} (software WebGPU adapter, runs on the CPU)`
    : `${name} (${detail ? `${detail}, ` : ''}WebGPU)`;
}

/**
 * The high-performance adapter, or NoAdapterError saying why there is none: Dawn's binary
 * failed to load (no Vulkan loader), no driver offered an adapter, or only a software one
 * did and `allowSoftware` is false.
 */
export async function findAdapter(options: { allowSoftware: boolean }): Promise<FoundAdapter> {
  let gpu: GPU;
  let globals: object;
  try {
    const dawn = await import('webgpu');
    gpu = dawn.create([]);
    globals = dawn.globals;
  } catch (error) {
    throw new NoAdapterError(`Dawn (npm package webgpu) did not load: ${(error as Error).message}`);
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new NoAdapterError(
      "no WebGPU adapter: no Vulkan driver that Dawn accepts (on Debian 12: mesa-vulkan-drivers and libvulkan1 from bookworm-backports for a software one; a GPU vendor's driver for a real one)",
    );
  }
  const description = describe(adapter);
  if (description.software && !options.allowSoftware) {
    throw new NoAdapterError(
      `the only WebGPU adapter is a software one (${deviceName(description)}), slower than wasm; ask for it with --backend webgpu`,
    );
  }
  return { gpu, globals, adapter, description };
}
