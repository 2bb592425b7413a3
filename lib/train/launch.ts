/** The local launcher moved to lib/launch/local-launch.ts (train and encode share it); this path stays for existing imports. */
export * from '../launch/local-launch';
