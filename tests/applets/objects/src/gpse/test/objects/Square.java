package gpse.test.objects;

public class Square extends Shape {
    Square(short side) {
        super(side);
    }

    public short area() {
        return (short) (size * size);
    }

    short kind() {
        return 1;
    }
}
