/// Validation for exchange symbols, which are also used in file names and client order ids.
public enum Symbol {
    public static func isValid(_ s: String) -> Bool {
        // ASCII only: Character.isNumber also accepts "²" and "٣", and Binance has listed symbols in Chinese.
        !s.isEmpty && s.count <= 20 && s.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }
    }
}
