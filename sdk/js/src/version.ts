declare const __VROOM_SDK_VERSION__: string | undefined;

/** The SDK's version (from package.json at build time). */
export const version: string = typeof __VROOM_SDK_VERSION__ === 'string' ? __VROOM_SDK_VERSION__ : '0.0.0-dev';
