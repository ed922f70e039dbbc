package gpse.test.flow;

import javacard.framework.ISOException;

/** A user exception extending an API class; its instance is made once and reused. */
public class FlowException extends ISOException {
    private static FlowException instance;

    public FlowException(short reason) {
        super(reason);
    }

    public static void throwIt(short reason) {
        if (instance == null) {
            instance = new FlowException(reason);
        }
        instance.setReason(reason);
        throw instance;
    }
}
