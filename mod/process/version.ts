export const WEIR_VERSION = "0.1.0";
