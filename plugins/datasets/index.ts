/** The dataset layer: loaders, the validation split, normalisation, augmentation, batches. */
export {
  CIFAR10_CLASS_NAMES,
  classCounts,
  DatasetError,
  FASHION_MNIST_CLASS_NAMES,
  imageSize,
  MNIST_CLASS_NAMES,
  selectExamples,
  type Dataset,
  type ImageShape,
  type Split,
} from './dataset.ts';
export { readIdxImages, readIdxLabels, readIdxSplit, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, type IdxImages } from './idx.ts';
export { hasIdxFiles, IDX_FILE_NAMES, loadIdxDirectory } from './idx-directory.ts';
export {
  CIFAR10_RECORD_BYTES,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  hasCifarFiles,
  loadCifar10Directory,
  readCifarBatch,
} from './cifar10.ts';
export { splitValidation, type ValidationOptions } from './split.ts';
export { channelStats, type ChannelStats } from './normalise.ts';
export { augmentImage, defaultAugmentation, type AugmentOptions } from './augment.ts';
export { batches, type Batch, type BatchOptions } from './batches.ts';
export {
  DATASET_NAMES,
  datasetLocations,
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_MINI_DIR,
  loadDataset,
  type DatasetName,
  type LoadOptions,
  type Location,
} from './resolve.ts';
