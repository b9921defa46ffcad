// Entry of the engine process (a Node fork child, or an Electron utilityProcess).
import { startDispatcher } from './dispatcher';
import { engineMethods } from './methods';
import { detectTransport } from './transport';

const transport = detectTransport();
// the parent is gone (app quit, CLI crashed): nobody can receive results, so stop at once
// rather than live on as an orphan holding threads and files
transport.onParentGone(() => process.exit(0));
// Ctrl-C in a terminal reaches the whole process group; the parent turns it into a cancel (or
// ends this process itself), so a job stops at a step boundary instead of dying mid-write
process.on('SIGINT', () => {});
startDispatcher(transport, engineMethods);
