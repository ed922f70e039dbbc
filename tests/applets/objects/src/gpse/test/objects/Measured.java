package gpse.test.objects;

/** An interface, called through invokeinterface. */
public interface Measured {
    short measure();
}
