/** Where the runtime's AWS endpoint serves the ops page (its own module: the runtime loads the page only when asked). */
export const OPS_PAGE_PATH = '/_local/ops';

export const isOpsPagePath = (path: string) => path === OPS_PAGE_PATH || path.startsWith(`${OPS_PAGE_PATH}/`);
