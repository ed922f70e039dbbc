package gpse.test.txn;

import javacard.framework.APDU;
import javacard.framework.Applet;
import javacard.framework.ISO7816;
import javacard.framework.ISOException;
import javacard.framework.JCSystem;
import javacard.framework.SystemException;
import javacard.framework.TransactionException;
import javacard.framework.Util;

/**
 * Txn: JCSystem transactions, atomic and non-atomic array updates, the commit buffer, memory
 * limits and object deletion, the firewall's rule on storing global arrays (issue #15).
 *
 * State: a, b, c (persistent shorts), arr (persistent byte[4]), arr2 (persistent byte[4]),
 * st (static short), tr (transient CLEAR_ON_RESET byte[2]), pool (Object[32] of allocations).
 *
 * CLA 80, INS P1 P2 → response (SW 9000 unless said):
 *   70 -- → state: a b c (2 bytes each) arr (4) arr2 (4) st (2) tr[0] (1) = 17 bytes
 *   71 P1 → begin; a = P1; arr[0] = P1; st = P1; commit
 *   72 P1 → begin; a = P1; b = P1; arrayCopy(P1 x4 → arr); abort (nothing changes)
 *   73 -- → begin twice: TransactionException reason (IN_PROGRESS 01) as 1 byte; aborted
 *   74 P1 → begin; a = P1; ISOException 6A80 uncaught: the JCRE aborts (a unchanged)
 *   75 P1 P2 → outside a transaction: a = P1, then b = P2 (two atomic writes)
 *   76 -- → getMaxCommitCapacity, getUnusedCommitCapacity outside, and inside a transaction
 *           after one short write (2 bytes each, 6 in all); aborted
 *   77 -- → begin; writes big[i] = i until BUFFER_FULL: the count before it (2 bytes); abort
 *   78 P1 → begin; arrayCopy(P1.. → arr) and arrayCopyNonAtomic(P1.. → arr2); abort:
 *           arr is back, arr2 keeps P1.. (returns arr, arr2: 8 bytes)
 *   79 P1 → begin; tr[0] = P1; abort: tr[0] stays P1 (transient arrays are not journaled)
 *   7A P1 → allocates byte[P1 * 16] into pool until NO_RESOURCE (or the pool is full): the
 *           count (2 bytes)
 *   7B -- → drops the pool and requests object deletion
 *   7C P1 → JCSystem.getAvailableMemory(P1) (2 bytes)
 *   7D -- → stores the APDU buffer in a field: SecurityException caught → 01
 *   7E P1 → begin; a = P1; b = P1; arr[1] = P1; commit; then c = P1 outside (a torn APDU keeps
 *           the transaction whole or not at all, and c only after it)
 *   7F P1 → makeTransientByteArray(P1 * 16, CLEAR_ON_DESELECT) until NO_RESOURCE: the count
 *   58 P1 → begin; a = P1; b = a + 1; commit (a two-field transaction: the benchmark's)
 *   other INS: 6D00.
 */
public class Txn extends Applet {
    private static short st;
    private short a;
    private short b;
    private short c;
    private final byte[] arr;
    private final byte[] arr2;
    private final short[] big;
    private final byte[] tr;
    private Object[] pool;
    private Object held;
    private Object[] transients;

    private Txn() {
        arr = new byte[4];
        arr2 = new byte[4];
        big = new short[1024];
        tr = JCSystem.makeTransientByteArray((short) 2, JCSystem.CLEAR_ON_RESET);
        pool = new Object[32];
        transients = new Object[16];
        register();
    }

    public static void install(byte[] bArray, short bOffset, byte bLength) {
        new Txn();
    }

    public void process(APDU apdu) {
        if (selectingApplet()) {
            return;
        }
        byte[] buf = apdu.getBuffer();
        byte p1 = buf[ISO7816.OFFSET_P1];
        byte p2 = buf[ISO7816.OFFSET_P2];
        short n = 0;
        switch (buf[ISO7816.OFFSET_INS]) {
            case 0x70:
                Util.setShort(buf, (short) 0, a);
                Util.setShort(buf, (short) 2, b);
                Util.setShort(buf, (short) 4, c);
                Util.arrayCopyNonAtomic(arr, (short) 0, buf, (short) 6, (short) 4);
                Util.arrayCopyNonAtomic(arr2, (short) 0, buf, (short) 10, (short) 4);
                Util.setShort(buf, (short) 14, st);
                buf[16] = tr[0];
                n = 17;
                break;
            case 0x58:
                JCSystem.beginTransaction();
                a = p1;
                b = (short) (a + 1);
                JCSystem.commitTransaction();
                break;
            case 0x71:
                JCSystem.beginTransaction();
                a = p1;
                arr[0] = p1;
                st = p1;
                JCSystem.commitTransaction();
                break;
            case 0x72:
                JCSystem.beginTransaction();
                a = p1;
                b = p1;
                buf[0] = p1;
                buf[1] = p1;
                buf[2] = p1;
                buf[3] = p1;
                Util.arrayCopy(buf, (short) 0, arr, (short) 0, (short) 4);
                JCSystem.abortTransaction();
                break;
            case 0x73:
                JCSystem.beginTransaction();
                try {
                    JCSystem.beginTransaction();
                } catch (TransactionException e) {
                    buf[0] = (byte) e.getReason();
                    n = 1;
                }
                JCSystem.abortTransaction();
                break;
            case 0x74:
                JCSystem.beginTransaction();
                a = p1;
                ISOException.throwIt(ISO7816.SW_WRONG_DATA);
                break;
            case 0x75:
                a = p1;
                b = p2;
                break;
            case 0x76:
                Util.setShort(buf, (short) 0, JCSystem.getMaxCommitCapacity());
                Util.setShort(buf, (short) 2, JCSystem.getUnusedCommitCapacity());
                JCSystem.beginTransaction();
                c = p1;
                Util.setShort(buf, (short) 4, JCSystem.getUnusedCommitCapacity());
                JCSystem.abortTransaction();
                n = 6;
                break;
            case 0x77: {
                short i = 0;
                JCSystem.beginTransaction();
                try {
                    for (; i < (short) big.length; i++) {
                        big[i] = i;
                    }
                } catch (TransactionException e) {
                    if (e.getReason() != TransactionException.BUFFER_FULL) {
                        throw e;
                    }
                }
                JCSystem.abortTransaction();
                Util.setShort(buf, (short) 0, i);
                n = 2;
                break;
            }
            case 0x78:
                buf[0] = p1;
                buf[1] = (byte) (p1 + 1);
                buf[2] = (byte) (p1 + 2);
                buf[3] = (byte) (p1 + 3);
                JCSystem.beginTransaction();
                Util.arrayCopy(buf, (short) 0, arr, (short) 0, (short) 4);
                Util.arrayCopyNonAtomic(buf, (short) 0, arr2, (short) 0, (short) 4);
                JCSystem.abortTransaction();
                Util.arrayCopyNonAtomic(arr, (short) 0, buf, (short) 0, (short) 4);
                Util.arrayCopyNonAtomic(arr2, (short) 0, buf, (short) 4, (short) 4);
                n = 8;
                break;
            case 0x79:
                JCSystem.beginTransaction();
                tr[0] = p1;
                JCSystem.abortTransaction();
                buf[0] = tr[0];
                n = 1;
                break;
            case 0x7A: {
                short i = 0;
                try {
                    for (; i < (short) pool.length; i++) {
                        pool[i] = new byte[(short) (p1 * 16)];
                    }
                } catch (SystemException e) {
                    if (e.getReason() != SystemException.NO_RESOURCE) {
                        throw e;
                    }
                }
                Util.setShort(buf, (short) 0, i);
                n = 2;
                break;
            }
            case 0x7B:
                for (short i = 0; i < (short) pool.length; i++) {
                    pool[i] = null;
                }
                for (short i = 0; i < (short) transients.length; i++) {
                    transients[i] = null;
                }
                JCSystem.requestObjectDeletion();
                break;
            case 0x7C:
                Util.setShort(buf, (short) 0, JCSystem.getAvailableMemory(p1));
                n = 2;
                break;
            case 0x7D:
                try {
                    held = buf;
                    buf[0] = 0;
                } catch (SecurityException e) {
                    buf[0] = 1;
                }
                n = 1;
                break;
            case 0x7E:
                JCSystem.beginTransaction();
                a = p1;
                b = p1;
                arr[1] = p1;
                JCSystem.commitTransaction();
                c = p1;
                break;
            case 0x7F: {
                short i = 0;
                try {
                    for (; i < (short) transients.length; i++) {
                        transients[i] = JCSystem.makeTransientByteArray((short) (p1 * 16), JCSystem.CLEAR_ON_DESELECT);
                    }
                } catch (SystemException e) {
                    if (e.getReason() != SystemException.NO_RESOURCE) {
                        throw e;
                    }
                }
                Util.setShort(buf, (short) 0, i);
                n = 2;
                break;
            }
            default:
                ISOException.throwIt(ISO7816.SW_INS_NOT_SUPPORTED);
        }
        apdu.setOutgoingAndSend((short) 0, n);
    }
}
